"""The staff directory: who a verified Slack or Teams user is to the partner desk."""
from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.partner.models import PLATFORMS, ROLES, StaffMember


@dataclass(frozen=True)
class DirectoryEntry:
    staff_id: str  # "slack:T0LAKESHORE:U0MEICHEN": one string per platform identity
    partner_id: str
    name: str
    role: str


def staff_id(platform: str, workspace: str, user_id: str) -> str:
    return f"{platform}:{workspace}:{user_id}"


def look_up(session: Session, platform: str, workspace: str, user_id: str) -> DirectoryEntry | None:
    """The staff member a platform identity (already verified by the channel) belongs to, or None."""
    if platform not in PLATFORMS or not workspace or not user_id:
        return None
    row = session.scalar(select(StaffMember).where(StaffMember.platform == platform,
                                                   StaffMember.workspace == workspace,
                                                   StaffMember.user_id == user_id))
    if row is None or row.role not in ROLES:
        return None
    return DirectoryEntry(staff_id(platform, workspace, user_id), row.partner_id, row.name, row.role)


def add_member(session: Session, platform: str, workspace: str, user_id: str, partner_id: str, name: str,
               role: str) -> bool:
    """Add a directory entry unless that identity is already listed; True when added."""
    if platform not in PLATFORMS or role not in ROLES:
        raise ValueError(f"unknown platform {platform!r} or role {role!r}")
    exists = session.scalar(select(StaffMember.id).where(StaffMember.platform == platform,
                                                         StaffMember.workspace == workspace,
                                                         StaffMember.user_id == user_id))
    if exists is not None:
        return False
    session.add(StaffMember(platform=platform, workspace=workspace, user_id=user_id, partner_id=partner_id,
                            name=name, role=role))
    return True
