package io.github.reactivepgqueue.examples.webflux;

import java.net.URI;
import java.util.UUID;
import org.springframework.http.HttpStatus;
import org.springframework.http.ResponseEntity;
import org.springframework.web.bind.annotation.GetMapping;
import org.springframework.web.bind.annotation.PathVariable;
import org.springframework.web.bind.annotation.PostMapping;
import org.springframework.web.bind.annotation.RequestBody;
import org.springframework.web.bind.annotation.RequestMapping;
import org.springframework.web.bind.annotation.RestController;
import org.springframework.web.server.ResponseStatusException;
import reactor.core.publisher.Mono;

/**
 * {@code POST /orders} places an order and enqueues its shipping in one transaction (201, or 409
 * when out of stock, with nothing stored); {@code GET /orders/{id}} shows an order.
 */
@RestController
@RequestMapping("/orders")
public class OrderController {
    private final OrderService orderService;
    private final Orders orders;

    OrderController(OrderService orderService, Orders orders) {
        this.orderService = orderService;
        this.orders = orders;
    }

    /** Places an order. */
    @PostMapping
    public Mono<ResponseEntity<OrderService.PlacedOrder>> place(@RequestBody OrderRequest request) {
        String problem = request.problem();
        if (problem != null) {
            return Mono.error(new ResponseStatusException(HttpStatus.BAD_REQUEST, problem));
        }
        return orderService.place(request)
                .map(placed -> ResponseEntity.created(URI.create("/orders/" + placed.orderId())).body(placed));
    }

    /** One order; 404 if there is none with this id. */
    @GetMapping("/{id}")
    public Mono<Orders.Order> find(@PathVariable("id") UUID id) {
        return orders.find(id)
                .switchIfEmpty(Mono.error(() -> new ResponseStatusException(HttpStatus.NOT_FOUND, "No order " + id)));
    }
}
