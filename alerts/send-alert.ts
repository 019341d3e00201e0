// One alert to one sink, whichever kind it is.
import type { AlertSink } from '../common/config';
import type { Alert } from '../store/detections';
import { sendEmail } from './email';
import { sendSyslog } from './syslog';
import { sendWebhook } from './webhook';

export function sendAlert(sink: AlertSink, alert: Alert): Promise<void> {
  switch (sink.type) {
    case 'webhook':
      return sendWebhook(sink, alert);
    case 'syslog':
      return sendSyslog(sink, alert);
    case 'email':
      return sendEmail(sink, alert);
  }
}
