"""Citizen cases: complaints, reports and applications followed to the end (docs/cases.md)."""
