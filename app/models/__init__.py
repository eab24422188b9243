"""The domain model, one module per aggregate; importing this registers every table."""

from app.models.audit import AuditEvent
from app.models.consultation import (
    LOCALES,
    Consultation,
    ConsultationState,
    Item,
    ItemKind,
    ItemVersion,
    localized,
)
from app.models.council_response import CouncilResponse, Decision
from app.models.feedback import (
    Attachment,
    Attribution,
    CosignState,
    Disclosure,
    Feedback,
    FeedbackCosigner,
    FeedbackRevision,
    FeedbackState,
    PublishedTally,
    Stance,
)
from app.models.invitation import Invitation
from app.models.moderation import (
    BulkAction,
    BulkStatus,
    CampaignMerge,
    FeedbackFingerprint,
    FlagCheck,
    FlagKind,
    ModerationFlag,
    ModerationNote,
    Redaction,
)
from app.models.notification import Notification, NotificationStatus
from app.models.organization import (
    ColleagueInvitation,
    JoinRequest,
    JoinState,
    Organization,
    OrganizationType,
    VerificationState,
)
from app.models.report import Report, ReportPart, ReportStatus
from app.models.user import ApiToken, IdempotentRequest, Role, UsedToken, User, UserSession

__all__ = [
    "LOCALES",
    "ApiToken",
    "IdempotentRequest",
    "Attachment",
    "Attribution",
    "ColleagueInvitation",
    "AuditEvent",
    "Consultation",
    "ConsultationState",
    "CosignState",
    "CouncilResponse",
    "Decision",
    "Disclosure",
    "Feedback",
    "FeedbackCosigner",
    "FeedbackRevision",
    "FeedbackState",
    "FlagKind",
    "Invitation",
    "Item",
    "ItemKind",
    "ItemVersion",
    "JoinRequest",
    "JoinState",
    "ModerationFlag",
    "ModerationNote",
    "Notification",
    "NotificationStatus",
    "Organization",
    "PublishedTally",
    "OrganizationType",
    "Redaction",
    "BulkAction",
    "CampaignMerge",
    "BulkStatus",
    "FeedbackFingerprint",
    "FlagCheck",
    "Report",
    "ReportPart",
    "ReportStatus",
    "Role",
    "Stance",
    "UsedToken",
    "User",
    "UserSession",
    "VerificationState",
    "localized",
]
