"""The chat page.

- page.py: ChatApp, which composes the panels, lays them out, wires what refreshes by itself, launches;
- chat.py: the chat panel (conversation, question box, filters, examples, "Explain with the local model");
- sources.py: the sources panel (a card per citation, the quote highlighted in its paragraph);
- whatsnew.py: the "What's new" panel (latest articles, followed feeds), with feeds.py (following and
  unfollowing a feed);
- adding.py: the "Add articles" panel (uploads, fetching a page by URL, re-indexing the folders);
- shared.py: what the panels share (assistant, updater, index status, the cached article list);
- render.py: answers, citations, articles and feeds → the HTML the page shows (inert text);
- history.py: the chat history a client sends → (role, text) turns;
- inputs.py: what people send (answer filters, dates, feed addresses and names, file names), checked;
- guard.py: Host header, request size, rate limits, the binding rule (ASGI middleware);
- serve.py: `python app.py` / `assistant serve`.
"""
