// Drives the third-party client @motiadev/stream-client-node against an iii-core stream server
// (tests/server/test_node_client.py).
//
// Usage: node subscribe.mjs <ws-url> <stream> <group> <item>
// Subscribes to the group and to one item of it, through the client's own API only. Prints one
// JSON line {"ready": true} once both subscriptions have had their sync; then records every
// state the client's change listeners report, and every custom "note" event of the group; on
// the group's custom event "done" prints {"item": [...], "group": [...], "notes": [...]} and
// exits 0. Exits 2 after 60 s, printing what it has, so a test never hangs on it.
import { Stream } from '@motiadev/stream-client-node'

const [url, streamName, groupId, itemId] = process.argv.slice(2)
const record = { item: [], group: [], notes: [] }
const print = (value) => process.stdout.write(JSON.stringify(value) + '\n')

const stream = new Stream(url)
const item = stream.subscribeItem(streamName, groupId, itemId)
const group = stream.subscribeGroup(streamName, groupId)

let synced = 0
const seen = (states, state) => {
  states.push(state)
  if (states.length === 1 && ++synced === 2) print({ ready: true })
}
item.addChangeListener((state) => seen(record.item, state))
group.addChangeListener((state) => seen(record.group, state.map((entry) => ({ ...entry }))))
group.onEvent('note', (data) => record.notes.push(data))
group.onEvent('done', () => {
  print(record)
  stream.close()
  process.exit(0)
})

setTimeout(() => {
  print({ timeout: true, ...record })
  process.exit(2)
}, 60000)
