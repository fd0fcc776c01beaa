"""Local stand-ins for the services the help desk calls, so demos and tests run offline.

Each subpackage is a real HTTP server speaking the upstream's API shape, with admin endpoints
to play the upstream's side and to inject faults.
"""
