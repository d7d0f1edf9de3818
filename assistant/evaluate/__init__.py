"""Evaluation on QA splits in the RealTimeQA format: ``split`` (questions, articles, halves by week),
``run`` (figures of one assistant on some questions), ``fit`` (the answer models fitted on a split),
``folds`` (out-of-fold figures: fitted on one half of the weeks, measured on the other), ``table``
(printing) and ``conversation`` (follow-ups and questions after unrelated ones)."""
