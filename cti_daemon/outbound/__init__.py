"""What agents are told, once, transport-free: the port the core calls (`AgentPort`), the JSON payload
builders and the topic names. Adapters (MQTT, the browser stream) implement the port; app.py fans out."""
