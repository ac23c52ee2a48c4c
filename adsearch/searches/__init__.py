"""The searches, each a short composition of :mod:`adsearch.searches.common` pieces.

- :mod:`adsearch.searches.autoencoder`: the unsupervised lepton + X search (RMM autoencoder).
- :mod:`adsearch.searches.cwola`: CWoLa hunting in dijet events (ATLAS 2020).

Data flows one way: searches read stores and call models and stats; nothing below imports them.
"""
