// benchrig: the only script of the dashboards (no inline scripts: the
// Content-Security-Policy forbids them). Pages opt into behaviour with
// data- attributes.
"use strict";
