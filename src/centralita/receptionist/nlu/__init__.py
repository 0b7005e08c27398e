"""Natural-language understanding that works offline: language, intents, entities."""
