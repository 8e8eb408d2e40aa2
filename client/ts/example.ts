// example.ts calls the generated client the way the tutorial's frontend
// does; CI type-checks it with the generated client.ts (tsc --strict).
import Client, { type monitor, site, Local, isAPIError } from "./client"

const client = new Client(typeof window === "undefined" ? Local : window.location.origin)

/** siteRows lists the sites with their latest status, like the tutorial's SiteList. */
export async function siteRows(): Promise<string[]> {
    const { sites } = await client.site.List()
    const status: monitor.StatusResponse = await client.monitor.Status()
    return sites.map((s: site.Site) => {
        const st: monitor.SiteStatus | undefined = status.sites[s.id]
        const when = st ? new Date(st.checked_at).toISOString() : "never"
        return `${s.id} ${s.url}: ${st?.up ? "up" : "down"} (checked ${when})`
    })
}

/** addSite adds a site (the form), checks it at once, and deletes it again. */
export async function addSite(url: string): Promise<boolean> {
    const added = await client.site.Add({ url })
    const res: monitor.CheckResult = await client.monitor.Check(added.id)
    const pinged: monitor.PingResponse = await client.monitor.Ping(url)
    const all: monitor.CheckAllResult = await client.monitor.CheckAll()
    try {
        await client.site.Delete(added.id)
    } catch (err) {
        if (isAPIError(err) && err.code === "not_found") {
            return false
        }
        throw err
    }
    return res.up && pinged.up && all.checked >= 0
}
