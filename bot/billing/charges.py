"""What the usual charge types on an invoice are, in plain words."""
from __future__ import annotations

CHARGE_EXPLANATIONS = {
    "virtual machines": "compute time of your virtual machines, billed by the hour for each size you ran",
    "storage": "data kept in your storage accounts and managed disks, billed by the gigabyte per month",
    "bandwidth": "data transferred out of the Azure data centres (to the internet or another region); incoming data is free",
    "reserved instance purchase": "an upfront payment for a reserved instance, which buys a discount on a virtual machine size for one or three years",
}


def explain_charge(description: str) -> str | None:
    return CHARGE_EXPLANATIONS.get(description.strip().lower())


def mentioned_charge(text: str, descriptions: list[str]) -> str | None:
    """The line description the customer's message names, if any ("what is the bandwidth charge?")."""
    lowered = text.lower()
    for description in sorted(descriptions, key=len, reverse=True):
        words = [w for w in description.lower().split() if len(w) > 3]
        if description.lower() in lowered or (words and all(w in lowered for w in words)) \
                or any(w.rstrip("s") in lowered for w in words[:1]):
            return description
    return None
