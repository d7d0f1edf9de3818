"""Ranked chunks → Answer(text, citations, refused). One job per file:

- ``types``: the data that crosses modules (Sentence, Source, Support, Citation, Answer);
- ``models``: the fitted models (sentence scoring, reranker, support estimate), the article-age
  feature and the weights file they are loaded from (``fitted.json``, written by bench/fit_models.py);
- ``scoring``: every sentence of the candidates scored against the question;
- ``gate``: whether the sources support an answer at all (refuse before any model runs);
- ``extractive``: the no-LLM answerer (the best sentences, verbatim);
- ``llm``: what the model reads (numbered sources) and what is done with what it writes;
- ``citations``: a model's claims → the source sentences that support them ([n] markers);
- ``quotes``: quoted speech in an answer is checked against the source it cites;
- ``refusal``: the refusal text, and recognising an answer that as a whole says "no answer".

Everything a user sees as a quote is ``article.text[start:end]`` for offsets computed from the stored
chunks; text a model writes is only matched against those spans, never shown as a quote.
"""
