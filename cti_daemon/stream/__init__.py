"""The live stream to signed-in pages: the outbound port's second adapter (the first is MQTT)."""
