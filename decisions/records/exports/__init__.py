"""Ways out of Archway: MADR 4 and Nygard Markdown, PDF (one record or the log), zip."""
