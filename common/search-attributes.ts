// Typed search attributes that make runs findable in the Temporal Web UI ("all screenshots of user X").
// Workflows set them; `qlik-audit dev` and the test servers register them at start.
import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';

export const QlikUserId = defineSearchAttributeKey('QlikUserId', SearchAttributeType.KEYWORD);
export const QlikUserDirectory = defineSearchAttributeKey('QlikUserDirectory', SearchAttributeType.KEYWORD);
export const QlikAppId = defineSearchAttributeKey('QlikAppId', SearchAttributeType.KEYWORD);
export const ScreenshotOutcome = defineSearchAttributeKey('ScreenshotOutcome', SearchAttributeType.KEYWORD);

export const searchAttributes = [QlikUserId, QlikUserDirectory, QlikAppId, ScreenshotOutcome];

/** `--search-attribute Name=Keyword` arguments for `temporal server start-dev`. */
export function devServerSearchAttributeArgs(): string[] {
  return searchAttributes.flatMap((key) => ['--search-attribute', `${key.name}=Keyword`]);
}
