"""Scheduling: free appointment slots from opening hours, staff hours and bookings."""

from centralita.scheduling.availability import (
    AvailabilityRequest,
    PartOfDay,
    PreferredWindow,
    Resource,
    Slot,
    free_slots,
    part_of_day,
    propose,
)

__all__ = [
    "AvailabilityRequest",
    "PartOfDay",
    "PreferredWindow",
    "Resource",
    "Slot",
    "free_slots",
    "part_of_day",
    "propose",
]
