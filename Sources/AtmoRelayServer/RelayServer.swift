// The `atmo relay` server: built in issue 4.
