import { positiveInt } from './types.js';
import { setting, settingGroup } from './setting.js';

export const liveOutputSettings = settingGroup('Live output', 'Server-sent event streams ([API](api.md#live-output-sse)); their caps are under Backpressure.', {
  SSE_HEARTBEAT_MS: setting(positiveInt.default(15_000), { unit: 'ms', description: 'Interval of the heartbeat comment on event streams.' }),
});
