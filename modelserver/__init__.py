"""An embedded Ollama-API server in front of a real small model (llama.cpp via xllamacpp).

Used when no Ollama answers at ``OLLAMA_HOST``: ``python -m modelserver``.
"""
