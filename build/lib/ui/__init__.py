"""Streamlit-side helpers shared by the pages: data access, language, filters, downloads."""
