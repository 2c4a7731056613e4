package admin

import (
	"io"
	"net/http"
)

// serveDashboard serves the admin dashboard: one static page that polls
// the JSON API every two seconds.
func serveDashboard(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Content-Security-Policy", "default-src 'self'; script-src 'unsafe-inline'; style-src 'unsafe-inline'")
	_, _ = io.WriteString(w, dashboardHTML)
}

const dashboardHTML = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>placer</title>
<style>
body{font:14px system-ui,sans-serif;margin:1.5em;color:#222}
h1{font-size:1.3em}h2{font-size:1.05em;margin-top:1.5em}
table{border-collapse:collapse}td,th{padding:.25em .8em;border-bottom:1px solid #ddd;text-align:left}
.ok{color:#080}.bad{color:#b00}.dim{color:#888}code{font-size:.95em}
</style></head><body>
<h1>placer <span id="node" class="dim"></span></h1>
<p id="summary" class="dim">loading…</p>
<h2>Members</h2><table id="members"></table>
<p>hidden peers: <span id="hidden"></span></p>
<h2>View</h2><p id="view"></p>
<h2>Counters</h2><table id="counters"></table>
<p class="dim">JSON: <a href="api/members">members</a> · <a href="api/view">view</a> · <a href="api/stats">stats</a> ·
<a href="api/hosted">hosted</a> · <a href="api/lookup?key=example">lookup?key=</a> · <a href="metrics">metrics</a></p>
<script>
"use strict";
const $ = id => document.getElementById(id);
function esc(s){return String(s).replace(/[&<>"']/g,c=>({"&":"&amp;","<":"&lt;",">":"&gt;",'"':"&quot;","'":"&#39;"}[c]))}
function row(cells,tag){return "<tr>"+cells.map(c=>"<"+(tag||"td")+">"+c+"</"+(tag||"td")+">").join("")+"</tr>"}
async function get(p){const r=await fetch(p,{cache:"no-store"});const j=await r.json();if(!r.ok)throw new Error(j.error||r.status);return j}
async function refresh(){
  try{
    const [m,v,s]=await Promise.all([get("api/members"),get("api/view"),get("api/stats")]);
    $("node").textContent=s.node;
    $("summary").textContent="up "+Math.round(s.uptime_ms/1000)+" s, "+s.placement.hosted+" keys hosted, "+s.runtime.peers+" peers";
    $("members").innerHTML=row(["name","status","ring","weight","transport","gossip"],"th")+m.members.map(x=>row([
      esc(x.name),'<span class="'+(x.status==="alive"?"ok":"bad")+'">'+esc(x.status)+"</span>",
      x.ring?"yes":(x.draining?"draining":"no"),x.weight,esc(x.transport_addr),esc(x.gossip_addr||"")])).join("");
    $("hidden").textContent=m.hidden.length?m.hidden.join(", "):"none";
    $("view").innerHTML="epoch "+v.epoch+", "+v.members.length+" ring members, "+
      (v.converged?'<span class="ok">converged</span>':'<span class="bad">not converged</span>')+
      (v.quorum?"":' — <span class="bad">no quorum</span>')+(v.draining.length?", draining: "+esc(v.draining.join(", ")):"");
    $("counters").innerHTML=Object.entries(s.placement).map(([k,x])=>row(["<code>"+esc(k)+"</code>",esc(x)])).join("");
  }catch(e){$("summary").innerHTML='<span class="bad">'+esc(e.message)+"</span>"}
}
refresh();setInterval(refresh,2000);
</script></body></html>
`
