"""The question's path, top-down; each step is a part the chain (``chain.py``) is built from:

1. ``rewrite``: a follow-up → a standalone question (rule, or the chat model);
2. ``timescope``: what the question says about time (a period it names; whether it asks about now);
3. ``retrieve``: hybrid search (BM25 + dense, fused), scoped by that period, recency only for a
   question that asks about the present;
4. ``rank``: every sentence scored, the chunks reranked, the support estimate (never by age);
5. ``chain``: the answer (extractive quotes, or a chat model's checked answer; the closest passage or
   a refusal when support is weak) and ``verify``: every quote is the article's own text.

The answer modules it calls (scoring, models, citations, quotes) are in ``assistant.answer``.
"""
