package io.github.reactivepgqueue.examples.webflux;

import io.github.reactivepgqueue.DatabaseUnavailableException;
import io.github.reactivepgqueue.InvalidJobException;
import org.springframework.http.HttpStatus;
import org.springframework.http.ProblemDetail;
import org.springframework.web.bind.annotation.ExceptionHandler;
import org.springframework.web.bind.annotation.RestControllerAdvice;

/** The library's and the shop's failures as HTTP answers (RFC 9457 problem details). */
@RestControllerAdvice
public class ApiErrors {

    /** A job the library refused before writing anything (payload too large, ...): 400. */
    @ExceptionHandler(InvalidJobException.class)
    public ProblemDetail invalidJob(InvalidJobException e) {
        return ProblemDetail.forStatusAndDetail(HttpStatus.BAD_REQUEST, e.getMessage());
    }

    /** The stock cannot cover an order (its transaction was rolled back): 409. */
    @ExceptionHandler(OutOfStockException.class)
    public ProblemDetail outOfStock(OutOfStockException e) {
        return ProblemDetail.forStatusAndDetail(HttpStatus.CONFLICT, e.getMessage());
    }

    /** The database cannot be reached right now: 503, worth trying again later. */
    @ExceptionHandler(DatabaseUnavailableException.class)
    public ProblemDetail databaseUnavailable(DatabaseUnavailableException e) {
        return ProblemDetail.forStatusAndDetail(HttpStatus.SERVICE_UNAVAILABLE, e.getMessage());
    }
}
