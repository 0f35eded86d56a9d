"""Live use at the desk: the monitor, its control channel, desktop context, alerts."""
