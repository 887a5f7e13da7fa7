"""Clinical derivations: typed ``sdtm`` -> ``adam`` (../shared/spec/clinical-rules.md).

One small function per derived thing, each citing its rule ID; ``build.build_adam(con)`` runs
them all. Modules: ``study_day`` (R-DAY), ``sledai`` (R-SLEDAI, R-PGA), ``lldas`` (R-LLDAS,
R-DORIS; ADLLDAS), ``psl`` (R-PSL; ADPSL), ``ae`` (R-AE; ADAE), ``labs`` (ADLB), ``exposure``
(ADEX), ``endpoints`` (R-ENDPOINT; ADEFF, ADCHG, ADPSLWK, ADCMIS), ``protocol`` (R-PROTOCOL),
``consistency`` (R-SLEDAI warnings), ``enrol`` (R-ENROL; ADSL).

Conventions where the rules leave a choice (each repeated in its module):
- SLEDAI-2K items are scored as delivered per assessment date (the site applies the 10-day rule).
- A subject with no glucocorticoid row at all has an unknown PSL dose (null), so C4/DORIS/PSL
  discontinuation are missing; a subject with any glucocorticoid row has dose 0 on uncovered days.
- Pulse day = that day's IV glucocorticoid rows sum to >= 250 mg PSL-eq; CUMDOSNP leaves out the
  IV glucocorticoid of pulse days (that day's oral dose counts), as R-PSL 1.1 says.
- Observation ends at ADSL.OBSENDT (R-DAY 1.1: end of study or data cut, whichever is first);
  doses and visit-based values stop there.
- A planned infusion (WEEK 0-20) is missed when its window closed (nominal + 7) on or before the
  end of observation and no ex row has that VISIT.
- AE end dates are not imputed (AENDT null when partial).
"""
