package profiling

// FlameScript is the ECMAScript that makes the flame graphs interactive:
// click a frame to zoom to it (its ancestors stay below it, full width and
// dimmed), click "Reset zoom" or the root to see the whole again, and read
// a hovered frame's title in the details line at the bottom.
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
// controls are the elements with ids "reset" and "details".
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
	var idle = details ? details.textContent : "";
	var eps = 1e-6;
	var items = [];
	var gs = frames.getElementsByTagName("g");
	for (var i = 0; i !== gs.length; i++) {
		items.push(load(gs[i]));
	}
	if (reset) {
		reset.addEventListener("click", unzoom);
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
			y: parseFloat(r.getAttribute("y"))
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
