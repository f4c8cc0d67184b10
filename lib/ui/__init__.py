"""The Streamlit layer: widgets and page parts shared by the pages. Only this package imports streamlit."""
