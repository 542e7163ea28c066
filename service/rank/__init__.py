"""Ranking: one ranker for every output, and a thin loader of candidates.

loader.load_pool(session, CandidateQuery, windows)   the only module here that reads storage:
                                                     the window (cached while the data stamp
                                                     holds), this query's rows of it, stories
  + preference.learned_for(...)                      the profile's learn.PreferenceModel (stored,
                                                     retrained when its feedback changed) on the
                                                     candidates' vectors: pool.learned
window.Columns                                       the window as arrays (profile-free)
score.score_pool(pool, preferences, now, learned)    every candidate's parts, as arrays
dial.dial_order(pool, preferences, now, learned)     the deep end, the broad tour, interleaved
                                                     by the dial; produced as far as asked
explain.ranked_item                                  the why of a page's item
contract.check_dial(pool, preferences, now)          the measured contract over depth 0 .. 1
"""
