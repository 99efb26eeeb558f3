/*
 * api.c - the route table and the JSON helpers shared by the handlers.
 *
 * Labels arrive from the wire as msgpack inside member records that the
 * core has already verified, but they are still decoded with the bounded
 * reader: a record is data from another site, and this is the last place
 * that turns it into text.
 */
#include "api.h"

#include <string.h>

#include <sodium.h>

#include "shoal/mp.h"

#include "clock.h"
#include "node.h"

const struct node_http_route node_api_routes[] = {
        {"GET", "/healthz", node_api_healthz},
        {"GET", "/v1/self", node_api_self},
        {"GET", "/v1/self/intents", node_api_self_intents},
        {"GET", "/v1/members", node_api_members},
        {"GET", "/v1/keyring", node_api_keyring_list},
        {"POST", "/v1/keyring/install", node_api_keyring_install},
        {"POST", "/v1/keyring/use", node_api_keyring_use},
        {"POST", "/v1/keyring/remove", node_api_keyring_remove},
        {"POST", "/v1/intents", node_api_intents_post},
        {"GET", "/v1/intents", node_api_intents_list},
        {"GET", "/v1/intents/*", node_api_intents_get},
        {"GET", "/v1/hlc", node_api_hlc},
        {"GET", "/v1/sites", node_api_sites},
        {"GET", "/v1/sites/*", node_api_site},
        {"GET", "/v1/fleet", node_api_fleet},
        {"GET", "/v1/fleet/sites", node_api_fleet_sites},
        {"GET", "/v1/virtual-sites/*", node_api_virtual_site},
        {"GET", "/v1/alerts", node_api_alerts},
        {"GET", "/metrics", node_api_metrics},
        {"GET", "/", node_api_dashboard},
        {"GET", "/dashboard.js", node_api_dashboard},
        {"GET", "/dashboard.css", node_api_dashboard},
        {"GET", "/favicon.svg", node_api_dashboard},
};
const size_t node_api_nroutes = sizeof(node_api_routes) / sizeof(node_api_routes[0]);

json_t *node_api_addr(const struct shoal_addr *a)
{
	char text[SHOAL_ADDR_STRLEN];
	if (a == NULL || a->family == 0 || shoal_addr_format(a, text, sizeof(text)) != 0)
		return json_null();
	return json_string(text);
}

json_t *node_api_base64(const uint8_t *bytes, size_t len)
{
	char text[sodium_base64_ENCODED_LEN(64, sodium_base64_VARIANT_ORIGINAL)];
	if (bytes == NULL || len > 64)
		return json_null();
	sodium_bin2base64(text, sizeof(text), bytes, len, sodium_base64_VARIANT_ORIGINAL);
	return json_string(text);
}

json_t *node_api_labels(const uint8_t *mp, size_t len)
{
	json_t *obj = json_object();
	const uint8_t *pos = mp, *end = mp + len;
	uint32_t count;
	if (obj == NULL || mp == NULL || len == 0)
		return obj;
	if (shoal_mp_read_map(&pos, end, &count) != 0)
		return obj;
	for (uint32_t i = 0; i < count; i++) {
		const uint8_t *k, *v;
		uint32_t kl, vl;
		char key[256], value[256];
		if (shoal_mp_read_str(&pos, end, &k, &kl) != 0 ||
		    shoal_mp_read_str(&pos, end, &v, &vl) != 0 || kl >= sizeof(key) ||
		    vl >= sizeof(value)) {
			json_object_clear(obj);
			return obj;
		}
		memcpy(key, k, kl);
		key[kl] = '\0';
		memcpy(value, v, vl);
		value[vl] = '\0';
		/* json_stringn rejects invalid UTF-8, keeping the output valid JSON. */
		json_t *jv = json_stringn(value, vl);
		if (jv != NULL && memchr(key, '\0', kl) == NULL)
			json_object_set_new(obj, key, jv);
		else
			json_decref(jv);
	}
	return obj;
}

json_t *node_api_time(uint64_t mono, uint64_t now_mono, uint64_t now_wall)
{
	char text[NODE_RFC3339_LEN];
	if (node_clock_rfc3339(node_clock_mono_to_wall(mono, now_mono, now_wall), text,
	                       sizeof(text)) != 0)
		return json_null();
	return json_string(text);
}
