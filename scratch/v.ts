import * as vl from "vega-lite";
import * as vega from "vega";
import { Resvg } from "@resvg/resvg-js";
const spec = { data: { values: [{x:1,y:2,m:"a"},{x:2,y:3,m:"a"}] }, mark: "line", encoding: { x: {field:"x",type:"quantitative"}, y:{field:"y",type:"quantitative"}, color:{field:"m"} } };
const v = new vega.View(vega.parse(vl.compile(spec as any).spec), { renderer: "none" });
const svg = await v.toSVG();
const png = new Resvg(svg, { font: { loadSystemFonts: true, defaultFontFamily: "DejaVu Sans" }, background: "white" }).render().asPng();
console.log(svg.length, png.length);
