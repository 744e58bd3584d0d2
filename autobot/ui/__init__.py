"""Gradio tabs. Each module's ``build_tab(config)`` adds one tab; app.py only wires them."""
