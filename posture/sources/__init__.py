"""Where frames come from: video files, still images, the bundled demo clip."""
