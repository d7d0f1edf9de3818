"""The chat page.

- render.py: answers and citations → the HTML the page shows (inert text, sources panel);
- history.py: the chat history a client sends → (role, text) turns;
- guard.py: Host header, request size, rate limits, the binding rule (ASGI middleware);
- inputs.py: what people send (answer filters, dates, feed addresses and names, file names), checked;
- state.py: what the page's parts share (assistant, updater, sync problem, article-list cache, status);
- adding.py: uploads, fetching a page by URL, re-indexing the folders;
- feeds.py: following and unfollowing feeds from the page;
- whatsnew.py: the latest articles and the followed feeds, refreshed by themselves;
- page.py: ChatApp (the chat, the Gradio Blocks and their wiring, launch), the parts above mixed in;
- serve.py: `python app.py` / `assistant serve`.
"""
