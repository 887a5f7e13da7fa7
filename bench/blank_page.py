"""The benchmark's blank page (bench/stages.py stage_page with ``page == BLANK``): a page of the
app that renders nothing, so its time is the app's own cost of a signed-in run (sign-in state,
sidebar, site filter, delivery banner, navigation) and every real page is measured against it."""
