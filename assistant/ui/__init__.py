"""The chat page.

- render.py: answers and citations → the HTML the page shows (inert text, sources panel);
- history.py: the chat history a client sends → (role, text) turns;
- guard.py: Host header, request size, rate limits, the binding rule (ASGI middleware);
- page.py: ChatApp, the Gradio Blocks and their handlers;
- serve.py: `python app.py` / `assistant serve`.
"""
