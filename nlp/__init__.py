"""Vietnamese NLP: normalization, PII redaction, language id, enrichers and their models."""
