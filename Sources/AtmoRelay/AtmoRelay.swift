// The relay: see docs/ARCHITECTURE.md. (Filled by the relay work of issue 4.)
