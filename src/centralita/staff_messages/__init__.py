"""Messages taken for staff: who gets them, how they are delivered, acknowledged and chased."""
