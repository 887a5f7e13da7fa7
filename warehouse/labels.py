"""The words a clinician reads for every column the app, the packet and the downloads carry.

One dictionary (STYLE.md "Labels": teal, the CDISC pilot's define.xml): ``LABELS[name]`` is
``(label, help)``. Displays show the label, with the CDISC name in the help text; CSV downloads
keep the CDISC names (statisticians use them). Flag codes get readable names (``FLAG_NAMES``).
Pure data and small functions: no Streamlit, so pages and the report both read it.
"""
from __future__ import annotations

import re

# name -> (label, help). The help says what the value is; the CDISC name is added by help_text().
LABELS: dict[str, tuple[str, str]] = {
    # identifiers, sites, subjects
    "USUBJID": ("Subject", "Unique subject identifier (STUDYID-SITEID-SUBJID); shown as site-subject"),
    "SUBJID": ("Subject number", "Subject number within the site"),
    "SITEID": ("Site", "Site number"),
    "AGE": ("Age (years)", "Age in years at consent"),
    "SEX": ("Sex", "M / F"),
    "ARMCD": ("Arm", "ANIFRO enrolled, SCRNFAIL screen failure"),
    # ADSL
    "SCRNFL": ("Screened", "Y: every consented subject"),
    "SCRFFL": ("Screen failure", "Y: failed screening"),
    "ENRLFL": ("Enrolled", "Y: enrolled (R-ENROL)"),
    "ENRLDT": ("Enrolled on", "Date of the ENROLLED milestone"),
    "SCRFREAS": ("Criteria not met", "Eligibility criterion codes a screen failure did not meet"),
    "SCRFRTXT": ("Why screening failed", "The criteria not met, in words"),
    "RFICDT": ("Consent", "Date of informed consent"),
    "TRTSDT": ("First infusion", "Date of the first anifrolumab infusion: study day 1"),
    "PSLSTDT": ("PSL started", "First day with a prednisolone-equivalent dose above 0 (R-PSL)"),
    "WEIGHTBL": ("Weight (kg)", "Latest weight on or before day 1"),
    "PSLCEIL": ("PSL ceiling (mg/day)", "0.6 mg/kg x baseline weight: the initial-dose limit (R-PROTOCOL)"),
    "CEILING": ("PSL ceiling (mg/day)", "0.6 mg/kg x baseline weight: the initial-dose limit (R-PROTOCOL)"),
    "FASFL": ("Full analysis set", "Y: enrolled with at least one infusion"),
    "EOSSTT": ("End-of-study status", "ONGOING, COMPLETED or DISCONTINUED"),
    "DCSREAS": ("Reason", "Why the subject discontinued"),
    "EOSDT": ("End of study date", "Date of the disposition event"),
    "DATACUT": ("Data cut", "The site's data cut"),
    "CUTDY": ("Study day of the data cut", "Study day the site's data cut falls on"),
    "OBSENDT": ("End of observation", "End of observation: end of study or data cut, whichever first (R-DAY)"),
    "OBSENDY": ("Last observed study day", "Study day of the end of observation (R-DAY)"),
    "SUBJSTAT": ("Status", "Where the subject is in the study"),
    # visits, days
    "AVISIT": ("Visit", "Scheduled visit"),
    "AVISITN": ("Week", "Week of the scheduled visit"),
    "VISIT": ("Visit", "Scheduled visit"),
    "VISITNUM": ("Visit number", "Visit number of the schedule"),
    "ADT": ("Date", "Date of the record"),
    "ADY": ("Study day", "Days since the first infusion; day 1 = first infusion, no day 0 (R-DAY)"),
    "WKDT": ("Week-W date", "The week's visit date if done, else its nominal date (R-ENDPOINT)"),
    "OOWFL": ("Out of window", "Y: the visit lies outside its window (R-DAY)"),
    "WEEKS": ("Weeks since first infusion", "Weeks since day 1"),
    # efficacy
    "SLEDAI": ("SLEDAI-2K", "SLEDAI-2K total recomputed from the 24 items (R-SLEDAI)"),
    "SLEDAIPR": ("Descriptors present", "SLEDAI-2K descriptors present at the visit"),
    "CLINSLED": ("Clinical SLEDAI-2K", "SLEDAI-2K without low complement and anti-dsDNA (R-DORIS)"),
    "PGA": ("Physician global (0-3)", "Physician global assessment (R-PGA)"),
    "NEWACT": ("New activity", "Investigator: new lupus activity since the previous assessment"),
    "HEMOLYT": ("Haemolytic anaemia", "Investigator item (R-LLDAS)"),
    "GIACT": ("GI activity", "Investigator: gastrointestinal lupus activity (R-LLDAS)"),
    "ISTOL": ("Immunosuppressants tolerated", "Investigator: at maintenance doses and well tolerated"),
    "CRIT1FL": ("C1 SLEDAI-2K ≤ 4", "LLDAS criterion 1 (R-LLDAS)"),
    "CRIT2FL": ("C2 no new activity", "LLDAS criterion 2 (R-LLDAS)"),
    "CRIT3FL": ("C3 PGA ≤ 1", "LLDAS criterion 3 (R-LLDAS)"),
    "CRIT4FL": ("C4 PSL ≤ 7.5 mg", "LLDAS criterion 4 (R-LLDAS)"),
    "CRIT5FL": ("C5 immunosuppressants tolerated", "LLDAS criterion 5 (R-LLDAS)"),
    "LLDASFL": ("LLDAS", "Lupus Low Disease Activity State met (Y / N / missing)"),
    "DORISFL": ("DORIS remission", "DORIS 2021 remission (exploratory, R-DORIS)"),
    "PARAMCD": ("Test", "Parameter code"),
    "PARAM": ("Endpoint", "Parameter"),
    "DUEFL": ("Due", "Y: due at the data cut (R-ENDPOINT)"),
    "RESPFL": ("Responder", "Y responder, N non-responder, empty: not yet due"),
    "REASON": ("Why", "Reason for the endpoint status"),
    "BASE": ("Week 0", "Baseline value"),
    "AVAL": ("Value", "Analysis value"),
    "CHG": ("Change from week 0", "Value minus baseline"),
    # glucocorticoids
    "PSLDOSE": ("PSL mg/day", "Prednisolone-equivalent daily dose (R-PSL)"),
    "CUMDOSE": ("Cumulative PSL (mg)", "Cumulative prednisolone-equivalent dose from initiation, pulses included"),
    "CUMDOSNP": ("Cumulative PSL without pulses (mg)",
                 "Cumulative dose without the IV glucocorticoid of pulse days (R-PSL)"),
    "DISCFL": ("PSL stopped", "Y: dose 0 on the week-W date"),
    "PULSEFL": ("Pulse day", "Y: IV glucocorticoid ≥ 250 mg PSL-eq that day (R-PSL)"),
    "DRUGS": ("Glucocorticoids", "The drugs and doses of that day"),
    "CMDECOD": ("Drug", "Standardised medication name"),
    "CMTRT": ("Drug as reported", "Verbatim medication name"),
    "CMCAT": ("Medication category", "Category"),
    "CMSTDTC": ("Started (as reported)", "Start date as delivered (may be partial)"),
    "ASTDT": ("Onset", "Start date (AE onset imputed per R-AE when partial)"),
    "ASTDY": ("Onset day", "Study day of the start / onset"),
    "AENDT": ("End", "End date (not imputed)"),
    # adverse events
    "AESEQ": ("Seq", "Sequence number of the adverse event"),
    "AETERM": ("Verbatim term", "Verbatim term as reported by the site"),
    "AEDECOD": ("Preferred term", "MedDRA preferred term"),
    "AEBODSYS": ("System organ class", "MedDRA system organ class"),
    "AESTDTC": ("Onset (as reported)", "Onset date as delivered (may be partial)"),
    "AEENDTC": ("End", "End date as delivered"),
    "ASTDTF": ("Onset imputed", "D: day imputed; M: month and day imputed (R-AE)"),
    "AETOXGR": ("Grade", "CTCAE grade 1-5"),
    "AESER": ("Serious", "Y: serious adverse event"),
    "AEREL": ("Relationship", "Relationship to anifrolumab"),
    "RELFL": ("Related", "Y: possibly related or related (R-AE)"),
    "AEACN": ("Action taken", "Action taken with anifrolumab"),
    "AEOUT": ("Outcome", "Outcome of the event"),
    "TRTEMFL": ("TEAE", "Y: onset on or after the first infusion (R-AE)"),
    "AESIFL": ("Special interest", "Y: adverse event of special interest (R-AE)"),
    "AESICAT": ("AESI category", "AESI categories of the event (R-AE)"),
    # infusions
    "EXSEQ": ("Infusion number", "Sequence number of the infusion"),
    "ASTDTM": ("Infusion start", "Start date and time"),
    "AENDTM": ("Infusion end", "End date and time"),
    "EXDOSE": ("Dose (mg)", "Anifrolumab dose given"),
    "DURMIN": ("Minutes", "Infusion duration in minutes"),
    "MISSFL": ("Missed", "Y: planned infusion not given though due (R-PROTOCOL)"),
    "DOSEDVFL": ("Dose not 300 mg", "Y: dose other than the protocol's 300 mg"),
    # labs
    "LBSEQ": ("Sample number", "Sequence number of the result"),
    "LBCAT": ("Category", "Laboratory category"),
    "AVALU": ("Unit", "Standard unit"),
    "ANRLO": ("Normal from", "Lower limit of normal"),
    "ANRHI": ("Normal to", "Upper limit of normal"),
    "ANRIND": ("Against range", "LOW / NORMAL / HIGH"),
    "ABLFL": ("Baseline", "Y: the baseline record"),
    # flags and warnings
    "FLAGCD": ("Flag", "Protocol check (R-PROTOCOL)"),
    "DETAIL": ("Detail", "What the check found"),
    "ITEM": ("Item", "What the warning is about"),
    # enrollment and run log
    "screened": ("Screened", "Subjects screened (rows of dm.csv)"),
    "screen_failed": ("Screen failures", "Subjects who failed screening"),
    "enrolled": ("Enrolled", "Subjects enrolled"),
    "first_enrolled": ("First enrolled", "Date of the site's first enrollment"),
    "last_enrolled": ("Last enrolled", "Date of the site's latest enrollment"),
    "data_cut": ("Data cut", "The site's data cut"),
    "subjects": ("Subjects", "Number of subjects"),
    "events": ("Events", "Number of events"),
    "responders": ("Responders", "Subjects meeting the endpoint"),
    "due": ("Due", "Subjects due at the data cut"),
    "not_yet_due": ("Not yet due", "Subjects not yet due (shown, not counted as failures)"),
    "fas": ("Full analysis set", "Enrolled subjects with at least one infusion"),
    "responders / due": ("Responders / due", "Responders out of the subjects due, with the percentage"),
    "status": ("Status", "Where the subject is in the study"),
    "term": ("Term", "MedDRA term"),
    "SOC": ("System organ class", "MedDRA system organ class"),
    "PT": ("Preferred term", "MedDRA preferred term"),
    "run_id": ("Run", "Run identifier"),
    "command": ("Command", "validate or load"),
    "started_at": ("Started", "When the run started"),
    "finished_at": ("Finished", "When the run finished"),
    "user": ("By", "Who ran it"),
    "host": ("Computer", "Where it ran"),
    "outcome": ("Outcome", "valid, refused, loaded or failed"),
    "files": ("Files", "Files read"),
    "exports": ("Exports", "Site exports of the run"),
    "problems": ("Problems", "Contract problems found"),
    "report": ("Report", "The run's HTML report"),
    "export": ("Export", "The delivery"),
    "file": ("File", "The export's file"),
    "row": ("Row", "Row of the file (header = row 1)"),
    "column": ("Column", "The column"),
    "value": ("Value", "The value as delivered"),
    "rule": ("Rule", "The contract rule broken"),
    "message": ("Problem", "The problem, as the contract words it"),
    "at": ("When", "When (UTC)"),
    "event": ("Event", "Access event"),
    "page": ("Page", "Page viewed"),
    # committee tables and listings (warehouse/tables.py prints these words too)
    "SERCRIT": ("Seriousness criteria", "Which seriousness criteria apply"),
    "CHANGE": ("Since reference", "NEW: not in the reference; CHANGED: grade rose, became serious or outcome changed"),
    "CHANGEDESC": ("What changed", "What changed since the reference"),
    "NINFUS": ("Infusions", "Infusions given"),
    "TRTEDT": ("Last infusion", "Date of the last infusion"),
    "EXPENDT": ("End of exposure", "Last infusion + 27 days, cut at the end of observation (R-AE)"),
    "TRTDURD": ("Days on treatment", "First infusion to the end of exposure, inclusive (R-AE)"),
    "TRTDURY": ("Patient-years", "Days on treatment / 365.25 (R-AE)"),
    "DTHDT": ("Date of death (disposition)", "Date of the DEATH disposition event"),
    "FATALAE": ("Fatal adverse event(s)", "Adverse events with a fatal outcome"),
    "AEONSET": ("Onset of fatal AE", "Onset of the fatal adverse event"),
    "AEONSETDY": ("Onset day", "Study day of the onset"),
    "SOURCE": ("Recorded in", "Where the death is recorded"),
    "ATOXGR": ("CTCAE grade", "CTCAE v5.0 grade of the value (R-LAB)"),
    "SLEDAIBL": ("SLEDAI-2K", "Baseline SLEDAI-2K"),
    "PGABL": ("Physician global assessment (0-3)", "Baseline physician global assessment"),
    "C3BL": ("C3 (mg/dL)", "Baseline complement C3"),
    "C4BL": ("C4 (mg/dL)", "Baseline complement C4"),
    "CH50BL": ("CH50 (U/mL)", "Baseline total complement CH50"),
    "DSDNABL": ("Anti-dsDNA (IU/mL)", "Baseline anti-dsDNA IgG"),
    "PSLDOSBL": ("PSL dose at initiation (mg/day)", "PSL-equivalent dose on the day PSL started"),
    # the PI's status board (adam.adstatus) and needs attention (issue 14)
    "OBSREAS": ("Observation ended by", "data cut (still in the study), completed, discontinued, not dosed (R-DAY)"),
    "STUDYWK": ("Study week", "Weeks completed since day 1 at the end of observation (R-DAY)"),
    "NXTVIS": ("Next visit", "First scheduled visit not done whose window is open or to come (R-DAY)"),
    "NXTVISDT": ("Next visit due", "Nominal date of the next visit (R-DAY)"),
    "NXTWINLO": ("Window opens", "First day of the next visit's window"),
    "NXTWINHI": ("Window closes", "Last day of the next visit's window"),
    "OVRDVIS": ("Overdue visits", "Visits not done whose window closed before the data cut"),
    "L12STAT": ("LLDAS week 12 status", "Responder / not met / missing / not yet due (R-ENDPOINT)"),
    "L12TEXT": ("LLDAS week 12", "The failing or missing criteria, or the date it becomes due"),
    "L12DUEDT": ("Week 12 due on", "Day 7x12+8: from this date week 12 is due (R-ENDPOINT)"),
    "L24STAT": ("LLDAS week 24 status", "Responder / not met / missing / not yet due (R-ENDPOINT)"),
    "L24TEXT": ("LLDAS week 24", "The failing or missing criteria, or the date it becomes due"),
    "L24DUEDT": ("Week 24 due on", "Day 7x24+8: from this date week 24 is due (R-ENDPOINT)"),
    "PSLCUR": ("PSL now (mg/day)", "PSL-equivalent dose on the last observed day (R-PSL)"),
    "PSLTGT": ("PSL target (mg/day)", "The protocol's week-12 target, ≤ 7.5 mg/day"),
    "PSLABFL": ("PSL above target", "Y: the current dose is above 7.5 mg/day"),
    "NFLAGS": ("Open flags", "Number of protocol flags (R-PROTOCOL)"),
    "FLAGS": ("Protocol flags", "The open protocol flags (R-PROTOCOL)"),
    "NSAE": ("Serious / grade ≥ 3 AEs", "Number of adverse events that are serious or of grade 3 or more"),
    "SAETEXT": ("Serious / grade ≥ 3 AEs: which", "The events, their grade and study day"),
    "TOPIC": ("Needs attention", "What kind of item"),
    "AESDTH": ("Death", "Seriousness criterion: results in death"),
    "AESLIFE": ("Life-threatening", "Seriousness criterion: life-threatening"),
    "AESHOSP": ("Hospitalisation", "Seriousness criterion: requires or prolongs hospitalisation"),
    "AESDISAB": ("Disability", "Seriousness criterion: persistent or significant disability"),
    "AESCONG": ("Congenital anomaly", "Seriousness criterion: congenital anomaly"),
    "AESMIE": ("Medically important", "Seriousness criterion: other medically important event"),
    "R2A1HI": ("× ULN", "Value / upper limit of normal (R-LAB)"),
    "POSTBLFL": ("Post-baseline", "Y: after day 1 and within observation (R-LAB)"),
    "WEEKTX": ("Study week today", "Weeks since day 1 at the data cut, or where and why observation ended (R-DAY)"),
    "NXTVISTX": ("Next visit (window)", "The next visit, its window, and any visit overdue (R-DAY)"),
    "PSLTX": ("PSL now vs target", "PSL-equivalent dose on the last observed day against the 7.5 mg/day target (R-PSL)"),
    "FLAGTX": ("Open protocol flags", "The open protocol flags, in words (R-PROTOCOL)"),
    "AETX": ("Serious / grade ≥ 3 AEs", "Adverse events that are serious or of grade 3 or more, with grade and study day (R-AE)"),
    # laboratory summaries (warehouse.queries.lab_*) and the liver signal (adam.edish)
    "direction": ("Direction graded", "increased: high values graded; decreased: low values graded (R-LAB)"),
    "N": ("N (subjects)", "The denominator: subjects with a post-baseline value of the test"),
    "attention": ("Attention", "GRADE ≥ 3: at least one subject has a grade 3 or 4 value after baseline"),
    "grade 0": ("Grade 0", "Subjects whose worst grade is 0 (within the normal range or not graded low / high)"),
    "grade ≥ 3": ("Grade ≥ 3", "Subjects whose worst grade is 3 or more"),
    "baseline grade": ("Baseline grade", "CTCAE grade of the baseline value; missing without one (R-LAB)"),
    "total": ("Total", "Subjects of the row"),
    "quadrant": ("eDISH quadrant", "Where the peak ALT/AST and peak bilirubin fall (R-LAB)"),
    "AMTPKULN": ("Peak ALT/AST (× ULN)", "Highest post-baseline ALT or AST over its upper limit of normal"),
    "AMTPKCD": ("Peak test", "ALT or AST: the aminotransferase of the peak"),
    "BILPKULN": ("Peak bilirubin (× ULN)", "Highest post-baseline bilirubin over its upper limit of normal"),
    "EDISHQ": ("eDISH quadrant", "Where the peaks fall (R-LAB)"),
    "HYLAWFL": ("Potential Hy's law", "Y: ALT or AST > 3 × ULN and bilirubin > 2 × ULN on one date (R-LAB)"),
    "HYLAWDT": ("First Hy's law date", "First post-baseline date with both thresholds exceeded"),
    "HYLAWDY": ("Study day of that date", "Study day of the first Hy's law date"),
    "HYAMTULN": ("ALT/AST that day (× ULN)", "Aminotransferase over ULN on the first Hy's law date"),
    "HYBILULN": ("Bilirubin that day (× ULN)", "Bilirubin over ULN on the first Hy's law date"),
    # deliveries (audit.deliveries, audit.changes) and their run-log status
    "site": ("Site", "Site number"),
    "live_data_cut": ("Data cut in use", "Data cut of the site's accepted delivery the app shows"),
    "live_run_id": ("Loaded by run", "Run that loaded the delivery in use"),
    "loaded_at": ("Loaded", "When the delivery in use was loaded"),
    "loaded_by": ("Loaded by", "Who loaded it"),
    "refused_data_cut": ("Refused data cut", "Data cut of the site's newest refused delivery, if newer"),
    "refused_run_id": ("Refused by run", "Run that refused it"),
    "refused_at": ("Refused", "When it was refused"),
    "resolved_by": ("Resolved by run", "The later accepted load of the site, if any"),
    "resolved_at": ("Resolved", "When that load ran"),
    "source": ("Export", "The export folder or upload the problem is in"),
    "subject": ("Subject", "Subject of the row, as delivered"),
    "visit": ("Visit", "Visit of the row, as delivered"),
    "RUN_ID": ("Run", "Run identifier"),
    "LOADED_AT": ("Loaded", "When the delivery was loaded"),
    "LOADED_BY": ("Loaded by", "Who loaded it"),
    "HOSTNAME": ("Computer", "Where the load ran"),
    "PREV_RUN_ID": ("Previous delivery (run)", "The site's previous accepted delivery; empty for its first"),
    "PREV_DATACUT": ("Previous data cut", "Data cut of the previous delivery"),
    "COMPARED": ("Compared", "Y: compared with the previous delivery; N: nothing to compare with"),
    "N_ADDED": ("Records added", "Records not in the previous delivery"),
    "N_REMOVED": ("Records removed", "Records of the previous delivery no longer delivered"),
    "N_CHANGED": ("Values changed", "Changed values, one per column of a record"),
    "N_RETRO": ("Retroactive changes", "Changes dated on or before the previous data cut"),
    "DOMAIN": ("File", "Domain (export file) of the record"),
    "RECORD_KEY": ("Record", "The record's key within its file"),
    "RECORD_DATE": ("Record date", "Date of the record"),
    "COLUMN_NAME": ("Column", "Column that changed"),
    "OLD_VALUE": ("Before", "Value in the previous delivery"),
    "NEW_VALUE": ("Now", "Value in this delivery"),
    "RETROFL": ("Retroactive", "Y: changed or removed, dated on or before the previous data cut"),
    "CONTEXT": ("Context", "E.g. a SLEDAI-2K item change: its total, old -> new"),
}
for _g in range(0, 5):
    LABELS[f"worst {_g}"] = (f"Worst grade {_g}", f"Subjects whose worst post-baseline grade is {_g}")
for _g in range(1, 6):
    LABELS[f"grade {_g}"] = (f"Grade {_g}", f"Subjects whose worst grade is {_g}")

# Flag and warning codes -> words.
FLAG_NAMES: dict[str, str] = {
    "LATE_FIRST_INFUSION": "First infusion more than 14 days after PSL start",
    "PSL_ABOVE_CEILING": "PSL above 0.6 mg/kg/day in the first 14 days",
    "PSL_ABOVE_7_5_WK12": "PSL above 7.5 mg/day on the week-12 date",
    "EXDOSE_NOT_300": "Infusion dose not 300 mg",
    "INFUSION_OUT_OF_WINDOW": "Infusion outside its visit window",
    "INFUSION_MISSED": "Planned infusion missed",
    "AGE_OUT_OF_RANGE": "Age outside 18-79 at consent",
    "LOWCOMP": "Low complement item disagrees with C3/C4/CH50",
    "INCDNA": "Anti-dsDNA item disagrees with the lab value",
    "THROMBO": "Thrombocytopenia item disagrees with the platelet count",
    "LEUKOPEN": "Leukopenia item disagrees with the white-cell count",
    "NO_GLUCOCORTICOID": "No glucocorticoid rows: PSL dose unknown",
}
CODE_COLUMNS = ("FLAGCD", "ITEM")            # whose values are codes shown by FLAG_NAMES
_USUBJID = re.compile(r"^[A-Za-z0-9]+-(\d\d-\d{3})$")


def label(name: str) -> str:
    """The displayed header of column ``name`` (the name itself when the dictionary lacks it)."""
    return LABELS.get(name, (name, ""))[0]


def help_text(name: str) -> str:
    """The column's help: what it is, then its CDISC (or download) name."""
    what = LABELS.get(name, (name, ""))[1]
    return f"{what} — column {name} in downloads" if what else f"Column {name} in downloads"


def short_subject(usubjid: str | None) -> str | None:
    """``jRCTs031230358-01-007`` -> ``01-007`` (site-subject), as displays show it."""
    if usubjid is None:
        return None
    m = _USUBJID.match(usubjid)
    return m.group(1) if m else usubjid


def flag_name(code: str | None) -> str | None:
    return None if code is None else FLAG_NAMES.get(code, code)


# AESI categories (ADAE.AESICAT, adam.adtte_aesi.PARAMCD) in words (R-AE).
AESI_NAMES: dict[str, str] = {
    "HERPES ZOSTER": "Herpes zoster", "INFUSION-RELATED REACTION": "Infusion-related reaction",
    "HYPERSENSITIVITY": "Hypersensitivity", "TUBERCULOSIS": "Tuberculosis",
    "MALIGNANCY": "Malignancy", "SERIOUS INFECTION": "Serious infection", "ANY AESI": "Any AESI"}
