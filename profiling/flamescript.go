package profiling

// FlameScript is the ECMAScript that makes the flame graphs interactive:
// click a frame to zoom to it (its ancestors stay below it, full width and
// dimmed), click "Reset zoom" or the root to see the whole again, read a
// hovered frame's title in the details line at the bottom, and click
// "Search" for a regular expression whose matching frames turn magenta,
// the details line saying what share of the samples they hold (of the
// frames drawn; a frame and its matching callees count once).
//
// WriteFlameSVG and WriteDiffSVG inline it, unless SVGOptions.ScriptHref is
// set: then the SVG references it by that URL, which a server with a
// Content-Security-Policy forbidding inline script ("script-src 'self'")
// serves with Content-Type text/javascript. The script attaches its
// handlers with addEventListener and changes only presentation attributes,
// so it needs no 'unsafe-inline' for scripts or styles, and the SVG has no
// <style> element or style attribute either.
//
// It reads what it needs from the SVG: the frames are the <g> children of
// the element with id "frames" (attributes data-left, data-width, data-charw:
// the frame area's left edge and width and the width of one character),
// each holding a <title> "NAME (details)", a <rect> and a <text>; the
// controls are the elements with ids "reset", "search" and "details".
const FlameScript = `(function () {
	"use strict";
	var doc = document;
	var frames = doc.getElementById("frames");
	if (!frames) {
		return;
	}
	var left = parseFloat(frames.getAttribute("data-left"));
	var width = parseFloat(frames.getAttribute("data-width"));
	var charW = parseFloat(frames.getAttribute("data-charw"));
	var reset = doc.getElementById("reset");
	var details = doc.getElementById("details");
	var search = doc.getElementById("search");
	var idle = details ? details.textContent : "";
	var idleDefault = idle;
	var searching = false;
	var matchFill = "rgb(230,0,230)";
	var eps = 1e-6;
	var items = [];
	var gs = frames.getElementsByTagName("g");
	for (var i = 0; i !== gs.length; i++) {
		items.push(load(gs[i]));
	}
	if (reset) {
		reset.addEventListener("click", unzoom);
	}
	if (search) {
		search.addEventListener("click", function () {
			if (searching) {
				clearSearch();
				return;
			}
			var term = window.prompt("Search frames (a regular expression):", "");
			if (term) {
				find(term);
			}
		});
	}

	function load(g) {
		var r = g.getElementsByTagName("rect")[0];
		var t = g.getElementsByTagName("text")[0];
		var ti = g.getElementsByTagName("title")[0];
		var label = ti ? ti.textContent : "";
		var cut = label.lastIndexOf(" (");
		var it = {
			g: g, r: r, t: t, label: label,
			name: cut >= 0 ? label.slice(0, cut) : label,
			x: parseFloat(r.getAttribute("x")),
			w: parseFloat(r.getAttribute("width")),
			y: parseFloat(r.getAttribute("y")),
			fill: r.getAttribute("fill")
		};
		g.addEventListener("click", function () {
			zoom(it);
		});
		g.addEventListener("mouseover", function () {
			if (details) {
				details.textContent = it.label;
			}
		});
		g.addEventListener("mouseout", function () {
			if (details) {
				details.textContent = idle;
			}
		});
		return it;
	}

	// fit is the label that fits in w pixels, as the Go side cuts it.
	function fit(name, w) {
		var n = Math.floor((w - 6) / charW);
		if (n >= name.length) {
			return name;
		}
		if (n < 3) {
			return "";
		}
		return name.slice(0, n - 2) + "..";
	}

	function place(it, x, w, dim) {
		it.g.removeAttribute("display");
		if (dim) {
			it.g.setAttribute("opacity", "0.5");
		} else {
			it.g.removeAttribute("opacity");
		}
		it.r.setAttribute("x", x.toFixed(2));
		it.r.setAttribute("width", w.toFixed(2));
		if (it.t) {
			it.t.setAttribute("x", (x + 3).toFixed(2));
			it.t.textContent = fit(it.name, w);
		}
	}

	function hide(it) {
		it.g.setAttribute("display", "none");
	}

	function zoom(z) {
		var scale = width / z.w;
		for (var i = 0; i !== items.length; i++) {
			var it = items[i];
			if (it.y > z.y + eps) {
				// Below the frame: its ancestors span it, the rest go.
				if (it.x <= z.x + eps && it.x + it.w >= z.x + z.w - eps) {
					place(it, left, width, true);
				} else {
					hide(it);
				}
			} else if (it.x >= z.x - eps && it.x + it.w <= z.x + z.w + eps) {
				place(it, left + (it.x - z.x) * scale, it.w * scale, false);
			} else {
				hide(it);
			}
		}
		if (reset) {
			reset.removeAttribute("display");
		}
	}

	// find paints the frames whose name matches term and tells the share
	// of the samples they cover: the union of their spans, so a match
	// inside a match counts once.
	function find(term) {
		var re;
		try {
			re = new RegExp(term);
		} catch (e) {
			setIdle("Not a regular expression: " + term);
			return;
		}
		var spans = [];
		for (var i = 0; i !== items.length; i++) {
			var it = items[i];
			if (re.test(it.name)) {
				it.r.setAttribute("fill", matchFill);
				spans.push([it.x, it.x + it.w]);
			}
		}
		spans.sort(function (a, b) {
			return a[0] - b[0];
		});
		var covered = 0;
		var end = -Infinity;
		for (var j = 0; j !== spans.length; j++) {
			var s = spans[j];
			if (s[1] > end) {
				covered += s[1] - Math.max(s[0], end);
				end = s[1];
			}
		}
		setIdle("Matched " + term + ": " + (100 * covered / width).toFixed(2) + "% of samples");
		searching = true;
		search.textContent = "Clear search";
	}

	function clearSearch() {
		for (var i = 0; i !== items.length; i++) {
			items[i].r.setAttribute("fill", items[i].fill);
		}
		setIdle(idleDefault);
		searching = false;
		search.textContent = "Search";
	}

	function setIdle(text) {
		idle = text;
		if (details) {
			details.textContent = text;
		}
	}

	function unzoom() {
		for (var i = 0; i !== items.length; i++) {
			place(items[i], items[i].x, items[i].w, false);
		}
		if (reset) {
			reset.setAttribute("display", "none");
		}
	}
})();
`
