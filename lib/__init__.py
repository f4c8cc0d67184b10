"""Image Studio: a Streamlit front end for the Image Studio API, and its offline Local Studio."""

__version__ = "0.3.0"
