import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { topicMatchesFilter } from '../../src/topic/index.js';

/** [filter, topic, expected] rows. */
type Row = [string, string, boolean];

function check(rows: Row[]): void {
  for (const [filter, topic, expected] of rows) {
    assert.equal(topicMatchesFilter(topic, filter), expected, `'${filter}' vs '${topic}'`);
  }
}

// Examples of MQTT 3.1.1 and 5.0 section 4.7. Statement ids: 3.1.1 numbers the '#' rule
// [MQTT-4.7.1-2] and the '+' rule [MQTT-4.7.1-3]; 5.0 numbers them [MQTT-4.7.1-1] and
// [MQTT-4.7.1-2]. The '$' rule is [MQTT-4.7.2-1] in both.
describe('topicMatchesFilter: spec section 4.7 examples', () => {
  test("4.7.1.2 '#' matches the parent level and any child levels", () => {
    check([
      ['sport/tennis/player1/#', 'sport/tennis/player1', true],
      ['sport/tennis/player1/#', 'sport/tennis/player1/ranking', true],
      ['sport/tennis/player1/#', 'sport/tennis/player1/score/wimbledon', true],
      ['sport/tennis/player1/#', 'sport/tennis/player2', false],
      ['sport/tennis/player1/#', 'sport/tennis', false],
      ['sport/#', 'sport', true],
      ['sport/#', 'sport/', true],
      ['sport/#', 'sports', false],
      ['#', 'sport', true],
      ['#', 'sport/tennis/player1', true],
      ['#', '/', true],
    ]);
  });

  test("4.7.1.3 '+' matches exactly one level, also an empty one", () => {
    check([
      ['sport/tennis/+', 'sport/tennis/player1', true],
      ['sport/tennis/+', 'sport/tennis/player2', true],
      ['sport/tennis/+', 'sport/tennis/player1/ranking', false],
      ['sport/+', 'sport', false],
      ['sport/+', 'sport/', true],
      ['+/+', '/finance', true],
      ['/+', '/finance', true],
      ['+', '/finance', false],
      ['+', 'finance', true],
      ['+/tennis/#', 'sport/tennis/player1', true],
      ['+/tennis/#', 'sport/tennis', true],
      ['+/tennis/#', 'sport/golf', false],
      ['sport/+/player1', 'sport/tennis/player1', true],
      ['sport/+/player1', 'sport/tennis/player2', false],
    ]);
  });

  test("4.7.2 a filter starting with a wildcard does not match '$' topics [MQTT-4.7.2-1]", () => {
    check([
      ['#', '$SYS/broker/uptime', false],
      ['+/monitor/Clients', '$SYS/monitor/Clients', false],
      ['+', '$SYS', false],
      ['$SYS/#', '$SYS/monitor/Clients', true],
      ['$SYS/#', '$SYS', true],
      ['$SYS/monitor/+', '$SYS/monitor/Clients', true],
      ['#', 'SYS/monitor/Clients', true],
    ]);
  });

  test("[MQTT-4.7.2-1] applies at the first level only: 'a/+' matches 'a/$x'", () => {
    check([
      ['a/+', 'a/$x', true],
      ['a/#', 'a/$x/y', true],
      ['+/$x', 'a/$x', true],
    ]);
  });

  test('4.7.3 no normalisation: case, spaces and leading slashes matter [MQTT-4.7.3-4]', () => {
    check([
      ['ACCOUNTS', 'Accounts', false],
      ['Accounts', 'Accounts', true],
      ['Accounts payable', 'Accounts payable', true],
      ['/finance', 'finance', false],
      ['finance', '/finance', false],
      ['/', '/', true],
      ['caf\u00e9', 'cafe\u0301', false],
    ]);
  });

  test('empty levels are real levels', () => {
    check([
      ['a//b', 'a//b', true],
      ['a/+/b', 'a//b', true],
      ['a/b', 'a//b', false],
      ['+', '', true],
      ['+/+', '/', true],
      ['+', '/', false],
      ['a/+', 'a/', true],
      ['a/', 'a', false],
      ['a', 'a/', false],
      ['a/#', 'a//', true],
      ['/#', '/', true],
      ['/#', 'a', false],
    ]);
  });

  test('literal levels must match whole', () => {
    check([
      ['a/bc', 'a/b', false],
      ['a/b', 'a/bc', false],
      ['a/b/c', 'a/b', false],
      ['a/b', 'a/b/c', false],
      ['a/b/#', 'a/bc', false],
    ]);
  });
});
