"""Input channels: where messages enter the Rasa server, are checked, and who sent them is verified.

  guard    what a message must look like before it reaches NLU (any channel)
  rest     the REST channel (POST /webhooks/rest/webhook)
"""
