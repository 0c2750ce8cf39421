// The dashboard (placeholder until the front end lands).
