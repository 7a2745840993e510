"""A tenant's gallery of enrolled people: enrol once, search by name on every surface.

`gallery.Gallery` is the API; the README's "The gallery" section says how surfaces use it.
"""

from tools.reid.gallery.checks import PhotoRefused
from tools.reid.gallery.gallery import (
    Asker,
    AuditEntry,
    EmbeddedFace,
    EmptyGallery,
    Enrolled,
    EnrolledPerson,
    Enrolment,
    EnrolmentRefused,
    Gallery,
    NameTaken,
    NotEnrolled,
    ReEnrolNeeded,
    Removal,
    Surface,
    TenantGallery,
    model_digest,
)

__all__ = [
    "Asker",
    "AuditEntry",
    "EmbeddedFace",
    "EmptyGallery",
    "Enrolled",
    "EnrolledPerson",
    "Enrolment",
    "EnrolmentRefused",
    "Gallery",
    "NameTaken",
    "PhotoRefused",
    "ReEnrolNeeded",
    "Removal",
    "Surface",
    "TenantGallery",
    "NotEnrolled",
    "model_digest",
]
