"""Ranking: pure scoring and depth/breadth selection, and a thin loader of candidates.

loader.load_pool(session, CandidateQuery)     reads storage (with preference.py, the stored model)
  + preference.learned_for(...)               the profile's learn.PreferenceModel on the candidates
  -> select.score_pool(pool, preferences, now) score parts (score.py), both ends ranked
  -> select.feed_at(scored, depth)             interleaved by the dial, explained, measured
order.dial_order(pool, preferences, now)       the same order, lean and lazy (feed pages, digests)
contract.check_dial(pool, preferences, now)    the measured contract over depth 0 .. 1
"""
