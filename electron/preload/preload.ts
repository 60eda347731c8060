// Sandboxed preload (bundled to one CommonJS file, dist/electron/preload.cjs): exposes exactly QuariApi as
// window.quari. Each method invokes its IPC channel and unwraps the main process's {ok, value | error} envelope;
// onEvent subscribes to the event channel. Only contextBridge and ipcRenderer are used, as sandboxing requires.
import { contextBridge, ipcRenderer, type IpcRendererEvent } from 'electron';
import { API_METHODS, type QuariApi, type QuariEvent } from '../shared/api.ts';
import { EVENT_CHANNEL, channelFor, type Envelope } from '../shared/protocol/routes.ts';
import { buildBridgeApi } from './bridge.ts';

const api: QuariApi = buildBridgeApi({
  invoke: (channel, args) => ipcRenderer.invoke(channel, ...args) as Promise<Envelope>,
  subscribe: (listener) => {
    const onMessage = (_event: IpcRendererEvent, payload: QuariEvent) => listener(payload);
    ipcRenderer.on(EVENT_CHANNEL, onMessage);
    return () => {
      ipcRenderer.removeListener(EVENT_CHANNEL, onMessage);
    };
  },
  methods: API_METHODS,
  channelFor,
});

contextBridge.exposeInMainWorld('quari', api);
