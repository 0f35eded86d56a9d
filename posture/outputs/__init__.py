"""What a run leaves behind: timeline, events, annotated video, history, report."""
