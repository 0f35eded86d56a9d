"""The private command line: the parser and every command's terminal output."""
