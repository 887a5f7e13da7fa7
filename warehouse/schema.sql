-- trialdash warehouse schema. Layers (STYLE.md, dbt): sdtm (typed, as delivered) -> adam (derived)
-- -> the page queries in warehouse/queries.py. The ETL alone writes; it builds a new file and
-- swaps it in, so readers only ever see a complete warehouse.
--
-- sdtm.<domain> tables are created by the loader from the contract (etl/contract.py): every
-- contract column as delivered (VARCHAR, or BIGINT/DOUBLE for numbers), plus SITEID, plus a typed
-- column beside each --DTC: <name without C> as DATE (null when partial) and, where times are
-- allowed, <name without C>M as TIMESTAMP. e.g. AESTDTC (text) + AESTDT (DATE);
-- EXSTDTC + EXSTDT + EXSTDTM.

CREATE SCHEMA IF NOT EXISTS sdtm;
CREATE SCHEMA IF NOT EXISTS adam;
CREATE SCHEMA IF NOT EXISTS audit;

-- One row per site currently in the warehouse: its latest accepted export.
CREATE TABLE IF NOT EXISTS sdtm.exports (
    SITEID VARCHAR PRIMARY KEY,
    DATACUT DATE NOT NULL,
    DATACUT_SOURCE VARCHAR NOT NULL,     -- 'export.json' or 'rows'
    RUN_ID VARCHAR NOT NULL,             -- the accepted load run that brought it
    LOADED_AT TIMESTAMP NOT NULL,
    ARCHIVE_PATH VARCHAR NOT NULL,       -- read-only copy of the export as delivered
    PREV_DATACUT DATE                    -- data cut of the export this one replaced (null: first)
);

-- ADSL: one row per screened subject (R-ENROL, R-DAY, R-ENDPOINT).
CREATE TABLE IF NOT EXISTS adam.adsl (
    USUBJID VARCHAR PRIMARY KEY, SITEID VARCHAR NOT NULL, SUBJID VARCHAR NOT NULL,
    AGE INTEGER, SEX VARCHAR, ARMCD VARCHAR,
    SCRNFL VARCHAR,          -- 'Y' every screened subject
    SCRFFL VARCHAR,          -- 'Y' screen failure
    ENRLFL VARCHAR,          -- 'Y'/'N'
    ENRLDT DATE,
    SCRFREAS VARCHAR,        -- failed criterion code(s), e.g. 'IN03' or 'IN03; EX08'
    SCRFRTXT VARCHAR,        -- their texts
    RFICDT DATE, TRTSDT DATE, PSLSTDT DATE,
    WEIGHTBL DOUBLE,         -- latest WEIGHT on or before day 1 (kg)
    FASFL VARCHAR,           -- enrolled with >= 1 infusion
    EOSSTT VARCHAR,          -- 'ONGOING' / 'COMPLETED' / 'DISCONTINUED' (screen failures: 'SCREEN FAILURE')
    DCSREAS VARCHAR, EOSDT DATE,
    DATACUT DATE NOT NULL,   -- the subject's site data cut
    CUTDY INTEGER,           -- study day of the data cut
    OBSENDT DATE,            -- R-DAY end of observation: EOSDT or DATACUT, whichever is first
    OBSENDY INTEGER,         -- its study day: the last observed study day
    SUBJSTAT VARCHAR,        -- 'SCREEN FAILED','ON TREATMENT','REACHED WEEK 12','COMPLETED WEEK 24','DISCONTINUED','ENROLLED, NOT DOSED'
    PSLCEIL DOUBLE,          -- R-PROTOCOL ceiling for the first 14 days of PSL: 0.6 mg/kg x WEIGHTBL (mg/day)
    HYLAWFL VARCHAR,         -- R-LAB potential Hy's law: 'Y'/'N' for FAS subjects (adam.edish), null otherwise
    -- R-AE exposure (etl.derive.exposure.treatment_exposure); null for a subject never dosed
    NINFUS INTEGER,          -- infusions given (ex rows)
    TRTEDT DATE,             -- last infusion
    EXPENDT DATE,            -- end of exposure: TRTEDT + 27 days, cut at OBSENDT
    TRTDURD INTEGER,         -- days on treatment: TRTSDT .. EXPENDT inclusive
    TRTDURY DOUBLE,          -- patient-years: TRTDURD / 365.25
    DTHFL VARCHAR, DTHDT DATE,  -- 'Y' and date: ds.csv DISPOSITION EVENT DEATH
    -- Baseline: latest non-missing value on or before day 1 (etl.derive.baseline)
    SLEDAIBL INTEGER, PGABL DOUBLE, C3BL DOUBLE, C4BL DOUBLE, CH50BL DOUBLE,
    DSDNABL DOUBLE,          -- anti-dsDNA (DDNAIGAB) IU/mL
    PSLDOSBL DOUBLE          -- PSL-equivalent mg/day on the date of PSL initiation (PSLSTDT)
);

-- R-ENROL: enrollment against the target, trial-wide (the target of 10 is the trial's), at the
-- latest data cut; the projection assumes the enrollment rate so far continues. One row.
CREATE TABLE IF NOT EXISTS adam.enrollment_projection (
    ENROLLED INTEGER, TARGET INTEGER, ASOFDT DATE,
    RATE30 DOUBLE,           -- enrolled per 30 days since the registry's first enrollment
    REACHEDDT DATE,          -- the target-th enrollment date, once reached
    PROJDT DATE,             -- projected date the target is reached (null when reached / none yet)
    METHOD VARCHAR           -- how, in a sentence, for the page to show beside it
);

-- ADLLDAS: one row per subject and assessment visit (R-SLEDAI, R-PGA, R-LLDAS, R-DORIS, R-DAY).
CREATE TABLE IF NOT EXISTS adam.adlldas (
    USUBJID VARCHAR NOT NULL, SITEID VARCHAR NOT NULL,
    AVISIT VARCHAR NOT NULL, AVISITN INTEGER,   -- AVISITN = week (SCREENING: null)
    VISITNUM INTEGER NOT NULL,
    ADT DATE NOT NULL, ADY INTEGER,
    SLEDAI INTEGER,          -- SLEDAI-2K total recomputed from the items
    SLEDAIPR VARCHAR,        -- descriptors present, e.g. 'ARTHRIT; RASH; LOWCOMP'
    PGA DOUBLE, PSLDOSE DOUBLE,
    NEWACT VARCHAR, HEMOLYT VARCHAR, GIACT VARCHAR, ISTOL VARCHAR,
    CRIT1FL VARCHAR, CRIT2FL VARCHAR, CRIT3FL VARCHAR, CRIT4FL VARCHAR, CRIT5FL VARCHAR,
    LLDASFL VARCHAR,         -- 'Y' / 'N' / null (not evaluable)
    DORISFL VARCHAR,         -- exploratory (R-DORIS)
    OOWFL VARCHAR,           -- 'Y' visit date outside its window
    CLINSLED INTEGER         -- clinical SLEDAI-2K (without LOWCOMP, INCDNA), R-DORIS
);

-- ADPSL: one row per subject and calendar day from PSL initiation to the end of observation
-- (ADSL.OBSENDT, R-DAY; never past it) (R-PSL).
CREATE TABLE IF NOT EXISTS adam.adpsl (
    USUBJID VARCHAR NOT NULL, SITEID VARCHAR NOT NULL,
    ADT DATE NOT NULL, ADY INTEGER,
    PSLDOSE DOUBLE NOT NULL,     -- prednisolone-equivalent mg/day
    CUMDOSE DOUBLE NOT NULL,     -- cumulative from initiation, pulses included
    CUMDOSNP DOUBLE NOT NULL,    -- cumulative without the IV glucocorticoid of pulse days
    PULSEFL VARCHAR,             -- 'Y' IV glucocorticoid >= 250 mg PSL-eq that day
    DRUGS VARCHAR                -- contributing drugs, e.g. 'PREDNISOLONE 30 mg/day'
);

-- ADAE (R-AE).
CREATE TABLE IF NOT EXISTS adam.adae (
    USUBJID VARCHAR NOT NULL, SITEID VARCHAR NOT NULL, AESEQ INTEGER NOT NULL,
    AETERM VARCHAR, AEDECOD VARCHAR, AEBODSYS VARCHAR,
    AESTDTC VARCHAR, AEENDTC VARCHAR,
    AETOXGR INTEGER, AESER VARCHAR,
    -- seriousness criteria as delivered ('Y' / 'N' / null): death, life-threatening,
    -- hospitalisation, disability, congenital anomaly, medically important
    AESDTH VARCHAR, AESLIFE VARCHAR, AESHOSP VARCHAR, AESDISAB VARCHAR, AESCONG VARCHAR, AESMIE VARCHAR,
    AEREL VARCHAR, AEACN VARCHAR, AEOUT VARCHAR,
    ASTDT DATE, ASTDTF VARCHAR,  -- imputed onset; flag 'D' (day imputed) / 'M' (month and day) / null
    AENDT DATE, ASTDY INTEGER,
    TRTEMFL VARCHAR, RELFL VARCHAR,
    AESIFL VARCHAR, AESICAT VARCHAR   -- e.g. 'HERPES ZOSTER', 'SERIOUS INFECTION'
);

-- ADTTE for the exposure-adjusted incidence rates (R-AE): one row per FAS subject with an
-- exposure and AESI category (PARAMCD 'HERPES ZOSTER' ... 'SERIOUS INFECTION', 'ANY AESI').
CREATE TABLE IF NOT EXISTS adam.adtte_aesi (
    USUBJID VARCHAR NOT NULL, SITEID VARCHAR NOT NULL,
    PARAMCD VARCHAR NOT NULL, PARAM VARCHAR,
    STARTDT DATE,                -- first infusion (TRTSDT)
    ADT DATE,                    -- end of the time at risk: first onset, else end of exposure
    AVAL INTEGER,                -- days at risk, STARTDT .. ADT inclusive
    CNSR INTEGER,                -- 0 event, 1 censored at the end of exposure (ADSL.EXPENDT)
    EVNTDESC VARCHAR             -- the first event's preferred term
);

-- ADLB: labs with range flags, ratio to the ULN, CTCAE v5 grades, baseline and worst post-baseline
-- grades (R-LAB, R-DAY). One row per lb.csv record with a result (NOT DONE rows are left out).
CREATE TABLE IF NOT EXISTS adam.adlb (
    USUBJID VARCHAR NOT NULL, SITEID VARCHAR NOT NULL, LBSEQ INTEGER,
    PARAMCD VARCHAR NOT NULL, PARAM VARCHAR, LBCAT VARCHAR,
    AVISIT VARCHAR, AVISITN INTEGER, VISITNUM INTEGER,
    ADT DATE, ADY INTEGER,
    AVAL DOUBLE, AVALU VARCHAR, ANRLO DOUBLE, ANRHI DOUBLE,
    ANRIND VARCHAR,              -- 'LOW' / 'NORMAL' / 'HIGH' / null
    ABLFL VARCHAR,               -- 'Y' on the R-LAB baseline record: latest value on or before day 1 (WEEK 0, else screening)
    BASE DOUBLE,                 -- AVAL of the baseline record, on every record of the subject and test
    CHG DOUBLE,                  -- AVAL - BASE on records after week 0
    OOWFL VARCHAR,
    R2A1HI DOUBLE,               -- AVAL / ANRHI (ALT, AST, BILI, CREAT), 9 decimals
    ATOXGRL INTEGER,             -- CTCAE v5 grade of a decrease, 0-4 (WBC, NEUT, LYM, PLAT; HGB 0-3); null: no grade
    ATOXGRH INTEGER,             -- CTCAE v5 grade of an increase, 0-4 (ALT, AST, BILI, CREAT); null: no grade
    BTOXGRL INTEGER, BTOXGRH INTEGER,  -- the baseline record's grades, on every record of the subject and test
    POSTBLFL VARCHAR,            -- 'Y' post-baseline: after day 1 and on or before ADSL.OBSENDT (R-LAB, R-DAY)
    WGRLOFL VARCHAR,             -- 'Y' on the one post-baseline record holding the worst ATOXGRL (tie: earliest)
    WGRHIFL VARCHAR              -- 'Y' on the one post-baseline record holding the worst ATOXGRH (tie: earliest)
);

-- eDISH and potential Hy's law (R-LAB): one row per FAS subject with a post-baseline ALT, AST or
-- BILI ratio to the ULN.
CREATE TABLE IF NOT EXISTS adam.edish (
    USUBJID VARCHAR NOT NULL, SITEID VARCHAR NOT NULL,
    AMTPKULN DOUBLE,             -- peak post-baseline ALT or AST x ULN
    AMTPKCD VARCHAR,             -- which of the two peaked ('ALT' on a tie)
    BILPKULN DOUBLE,             -- peak post-baseline BILI x ULN
    EDISHQ VARCHAR,              -- quadrant of the peaks at 3 x ULN / 2 x ULN; null without both peaks
    HYLAWFL VARCHAR NOT NULL,    -- 'Y' ALT or AST > 3 x ULN and BILI > 2 x ULN on one date, else 'N'
    HYLAWDT DATE, HYLAWDY INTEGER,      -- the first such date and its study day
    HYAMTULN DOUBLE, HYBILULN DOUBLE    -- ALT-or-AST and BILI x ULN on that date
);

-- ADEX: infusions done, plus planned infusions missing while due (R-PROTOCOL, R-DAY).
CREATE TABLE IF NOT EXISTS adam.adex (
    USUBJID VARCHAR NOT NULL, SITEID VARCHAR NOT NULL, EXSEQ INTEGER,   -- EXSEQ null when missed
    AVISIT VARCHAR, AVISITN INTEGER, VISITNUM INTEGER,
    ASTDTM TIMESTAMP, AENDTM TIMESTAMP, ADT DATE, ADY INTEGER,
    EXDOSE DOUBLE, DURMIN DOUBLE,
    OOWFL VARCHAR,               -- 'Y' outside the visit window
    MISSFL VARCHAR,              -- 'Y' planned infusion not given though due
    DOSEDVFL VARCHAR             -- 'Y' EXDOSE <> 300
);

-- ADEFF: endpoint status per subject (R-ENDPOINT). One row per FAS subject, endpoint and week.
-- PARAMCD: 'LLDAS', 'CRIT1'..'CRIT5', 'PSLDISC', 'DORIS'.
CREATE TABLE IF NOT EXISTS adam.adeff (
    USUBJID VARCHAR NOT NULL, SITEID VARCHAR NOT NULL,
    PARAMCD VARCHAR NOT NULL, PARAM VARCHAR, AVISITN INTEGER NOT NULL,
    WKDT DATE,                   -- the week-W date (visit date if done, else nominal)
    DUEFL VARCHAR NOT NULL,      -- 'Y' due at the data cut
    RESPFL VARCHAR,              -- 'Y' responder, 'N' non-responder (due), null not yet due
    REASON VARCHAR               -- e.g. 'visit not done', 'discontinued before week 12', 'LLDAS N'
);

-- ADCHG: change from week 0 at weeks 12 and 24 (R-ENDPOINT). PARAMCD: SLEDAI, C3, C4, CH50, DDNAIGAB.
CREATE TABLE IF NOT EXISTS adam.adchg (
    USUBJID VARCHAR NOT NULL, SITEID VARCHAR NOT NULL,
    PARAMCD VARCHAR NOT NULL, PARAM VARCHAR, AVISITN INTEGER NOT NULL,
    DUEFL VARCHAR, BASE DOUBLE, AVAL DOUBLE, CHG DOUBLE
);

-- ADPSLWK: PSL dose and cumulative dose at weeks 12 and 24 (R-ENDPOINT, R-PSL).
CREATE TABLE IF NOT EXISTS adam.adpslwk (
    USUBJID VARCHAR NOT NULL, SITEID VARCHAR NOT NULL, AVISITN INTEGER NOT NULL,
    WKDT DATE, DUEFL VARCHAR, PSLDOSE DOUBLE, CUMDOSE DOUBLE, CUMDOSNP DOUBLE,
    DISCFL VARCHAR               -- 'Y' dose 0 on the week-W date; null after the end of observation
);

-- ADCMIS: concomitant immunosuppressants, one row per subject and drug (R-ENDPOINT).
CREATE TABLE IF NOT EXISTS adam.adcmis (
    USUBJID VARCHAR NOT NULL, SITEID VARCHAR NOT NULL,
    CMDECOD VARCHAR NOT NULL, CMTRT VARCHAR, CMCAT VARCHAR,
    ASTDT DATE, ASTDY INTEGER, AENDT DATE,
    CMSTDTC VARCHAR              -- earliest start as delivered (ASTDT is null when it is partial)
);

-- Protocol flags for the PI (R-PROTOCOL): never refusals.
CREATE TABLE IF NOT EXISTS adam.protocol_flags (
    USUBJID VARCHAR NOT NULL, SITEID VARCHAR NOT NULL,
    FLAGCD VARCHAR NOT NULL,     -- 'LATE_FIRST_INFUSION','PSL_ABOVE_CEILING','PSL_ABOVE_7_5_WK12','EXDOSE_NOT_300','INFUSION_OUT_OF_WINDOW','INFUSION_MISSED','AGE_OUT_OF_RANGE'
    ADT DATE, DETAIL VARCHAR NOT NULL
);

-- Data-quality warnings (R-SLEDAI consistency; R-PSL no glucocorticoid row): never refusals.
CREATE TABLE IF NOT EXISTS adam.dq_warnings (
    USUBJID VARCHAR NOT NULL, SITEID VARCHAR NOT NULL,
    VISIT VARCHAR, ADT DATE,
    ITEM VARCHAR NOT NULL,       -- 'LOWCOMP', 'INCDNA', 'THROMBO', 'LEUKOPEN', 'NO_GLUCOCORTICOID'
    DETAIL VARCHAR NOT NULL
);

-- ADSTATUS: the PI's status board, one row per enrolled subject (etl/derive/status.py; R-DAY,
-- R-ENDPOINT, R-LLDAS, R-PSL, R-PROTOCOL, R-AE). "Today" is the site's data cut.
CREATE TABLE IF NOT EXISTS adam.adstatus (
    USUBJID VARCHAR NOT NULL, SITEID VARCHAR NOT NULL,
    DATACUT DATE, OBSENDT DATE, OBSENDY INTEGER,
    OBSREAS VARCHAR,             -- why observation ends at OBSENDT: 'data cut','completed','discontinued','not dosed'
    STUDYWK INTEGER,             -- weeks completed since day 1 at OBSENDT: (OBSENDY - 1) // 7
    NXTVIS VARCHAR, NXTVISDT DATE, NXTWINLO DATE, NXTWINHI DATE,  -- next visit not done, window open or to come
    OVRDVIS VARCHAR,             -- visits not done whose window closed before the data cut
    L12STAT VARCHAR, L12TEXT VARCHAR, L12DUEDT DATE,  -- 'RESPONDER','NOT MET','MISSING','NOT YET DUE'; why; due date
    L24STAT VARCHAR, L24TEXT VARCHAR, L24DUEDT DATE,
    PSLCUR DOUBLE,               -- PSL-eq mg/day on OBSENDT (null: unknown)
    PSLTGT DOUBLE,               -- the 7.5 mg/day target
    PSLABFL VARCHAR,             -- 'Y' PSLCUR above the target
    NFLAGS INTEGER, FLAGS VARCHAR,    -- open protocol flags (codes)
    NSAE INTEGER, SAETEXT VARCHAR     -- AEs of grade >= 3 or serious, in words
);

-- Run history: every validate and load run, accepted or refused, copied at each accepted load
-- from the run log (<warehouse>.runs/<run_id>/run.json), which stays the live record.
CREATE TABLE IF NOT EXISTS audit.runs (
    RUN_ID VARCHAR PRIMARY KEY, COMMAND VARCHAR, STARTED_AT TIMESTAMP, FINISHED_AT TIMESTAMP,
    USERNAME VARCHAR, HOSTNAME VARCHAR, OUTCOME VARCHAR,  -- 'valid','refused','loaded','failed'
    N_PROBLEMS INTEGER, REPORT_PATH VARCHAR
);
CREATE TABLE IF NOT EXISTS audit.run_files (
    RUN_ID VARCHAR, EXPORT VARCHAR, SITEID VARCHAR, FILE VARCHAR, SHA256 VARCHAR, N_ROWS INTEGER,
    ENCODING VARCHAR
);
CREATE TABLE IF NOT EXISTS audit.run_problems (
    RUN_ID VARCHAR, EXPORT VARCHAR, FILE VARCHAR, ROW_NUM INTEGER, COLUMN_NAME VARCHAR,
    VALUE VARCHAR, RULE VARCHAR, MESSAGE VARCHAR
);
CREATE TABLE IF NOT EXISTS audit.refresh (
    RUN_ID VARCHAR, REFRESHED_AT TIMESTAMP, SCHEMA_VERSION INTEGER
);

-- Snapshots for "new and changed since a reference": what the warehouse held after each accepted
-- load, written by that load inside the file it swaps in (so a snapshot exists exactly when its
-- load landed) and copied forward by every later load (etl.load).
-- One row per accepted load and site present after it: that site's data cut then.
CREATE TABLE IF NOT EXISTS audit.load_snapshots (
    RUN_ID VARCHAR NOT NULL,     -- the accepted load
    LOADED_AT TIMESTAMP,
    SITEID VARCHAR NOT NULL, DATACUT DATE,
    SITE_RUN_ID VARCHAR          -- the load that brought that site's export
);
-- ADAE as it was after each accepted load (the columns a comparison needs).
CREATE TABLE IF NOT EXISTS audit.ae_snapshots (
    RUN_ID VARCHAR NOT NULL,
    USUBJID VARCHAR NOT NULL, SITEID VARCHAR NOT NULL, AESEQ INTEGER,
    AETERM VARCHAR, AEDECOD VARCHAR, AEBODSYS VARCHAR, AESTDTC VARCHAR, ASTDT DATE,
    AETOXGR INTEGER, AESER VARCHAR, AEOUT VARCHAR, TRTEMFL VARCHAR, AESIFL VARCHAR
);

-- What each delivery was and changed (issue 13, etl/deliveries.py, etl/changes.py): written by
-- each accepted load into the file it swaps in and copied forward by every later load, as the
-- snapshots above. Refused deliveries never reach the warehouse: they are in the run log.
-- One row per accepted site export.
CREATE TABLE IF NOT EXISTS audit.deliveries (
    RUN_ID VARCHAR NOT NULL,        -- the accepted load
    SITEID VARCHAR NOT NULL,
    DATACUT DATE,
    LOADED_AT TIMESTAMP,            -- UTC
    LOADED_BY VARCHAR,              -- the run's user (the app user when the app started it)
    HOSTNAME VARCHAR,
    PREV_RUN_ID VARCHAR,            -- the site's previous accepted delivery (null: its first)
    PREV_DATACUT DATE,
    COMPARED VARCHAR,               -- 'Y' compared with PREV_RUN_ID's export; 'N' nothing to compare
    N_ADDED INTEGER, N_REMOVED INTEGER,  -- records
    N_CHANGED INTEGER, N_RETRO INTEGER   -- changed values (one per column), retroactive rows
);
-- One row per added or removed record, or per changed column of a record (etl/changes.py).
CREATE TABLE IF NOT EXISTS audit.changes (
    RUN_ID VARCHAR NOT NULL, SITEID VARCHAR NOT NULL, PREV_RUN_ID VARCHAR,
    DOMAIN VARCHAR, USUBJID VARCHAR, RECORD_KEY VARCHAR, VISIT VARCHAR, RECORD_DATE VARCHAR,
    CHANGE VARCHAR,                 -- 'added', 'removed', 'changed'
    COLUMN_NAME VARCHAR, OLD_VALUE VARCHAR, NEW_VALUE VARCHAR,
    RETROFL VARCHAR,                -- 'Y': changed or removed, dated on or before PREV_DATACUT
    CONTEXT VARCHAR                 -- e.g. a SLEDAI-2K item change: its total, old -> new
);
